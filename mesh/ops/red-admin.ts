// The admin extensions every host with a RED recorder gets: its per-method figures and series.

import type { AdminExtensions } from "../host/index.ts";
import type { RedWindow } from "../telemetry/index.ts";
import { seriesMessages, statsMessages } from "./red-messages.ts";


/** Options of {@link redAdminExtensions}. */
export interface RedAdminOptions extends Omit<AdminExtensions, "methods" | "series" | "windowSeconds"> {
  /** The recorder's window. */
  readonly window: RedWindow;
}

/** AdminExtensions reading `window` (the last complete second is the newest reported). */
export function redAdminExtensions(options: RedAdminOptions): AdminExtensions {
  const { window, ...rest } = options;
  const newest = () => Math.floor(Date.now() / 1000);
  return {
    ...rest,
    windowSeconds: window.seconds,
    methods: (windowS) => statsMessages(window.summarize(newest(), windowS)),
    series: (windowS) => seriesMessages(window.series(newest(), windowS)),
  };
}
