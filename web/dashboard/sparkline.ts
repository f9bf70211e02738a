// Sparklines with uPlot, loaded on first use so the first page paints without it.

import type uPlotType from "uplot";

type UPlot = typeof uPlotType;
let loading: Promise<UPlot> | undefined;

/** uPlot, imported once (its stylesheet is in style.css). */
function loadUPlot(): Promise<UPlot> {
  loading ??= import("uplot").then((m) => m.default);
  return loading;
}

/** A sparkline that keeps its chart and only swaps data on update (no flicker each second). */
export interface Sparkline {
  readonly element: HTMLElement;
  update(seconds: readonly number[], values: readonly number[]): void;
  destroy(): void;
}

/** Creates a sparkline `width` x `height` pixels drawn in `color`. */
export function createSparkline(options: { width: number; height: number; color: string; label: string }): Sparkline {
  const element = document.createElement("span");
  element.className = "sparkline";
  element.title = options.label;
  let chart: uPlotType | undefined;
  let pending: [number[], number[]] | undefined;
  let destroyed = false;
  void loadUPlot().then((uPlot) => {
    if (destroyed) return;
    chart = new uPlot(
      {
        width: options.width,
        height: options.height,
        legend: { show: false },
        cursor: { show: false },
        select: { show: false, left: 0, top: 0, width: 0, height: 0 },
        axes: [{ show: false }, { show: false }],
        scales: { x: { time: false }, y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
        series: [{}, { stroke: options.color, width: 1.5, fill: `${options.color}22`, label: options.label }],
      },
      pending ?? [[], []],
      element,
    );
  });
  return {
    element,
    update(seconds, values) {
      pending = [[...seconds], [...values]];
      chart?.setData(pending);
    },
    destroy() {
      destroyed = true;
      chart?.destroy();
    },
  };
}
