// The admin API's RED figures as a server call hook: every admitted call ends in its (service, method,
// caller) key of a bounded one-minute window (red-window.ts). The caller is the calling service when
// the call came through the mesh (see `callerOf`), so the figures also give the mesh graph's edges.

import type { DescMethod } from "@bufbuild/protobuf";
import type { ConnectError } from "@connectrpc/connect";
import type { CallHookContext, ServerCallHooks } from "../engine/index.ts";
import { RedWindow, type RedKey, type RedWindowOptions } from "./red-window.ts";

/** Options of {@link createRedRecorder}. */
export interface RedRecorderOptions extends RedWindowOptions {
  /** The calling service of a call, or "" when unknown. Default: always "". */
  readonly callerOf?: (context: CallHookContext) => string;
}

/** Records every call into a window the admin API reads. */
export interface RedRecorder {
  /** Put these in the host's (and the NATS RPC server's) `callHooks`. */
  readonly hooks: ServerCallHooks;
  /** The window the calls are recorded in. */
  readonly window: RedWindow;
}

class Token {
  readonly key: RedKey;
  readonly started: number;

  constructor(key: RedKey, started: number) {
    this.key = key;
    this.started = started;
  }
}

/** Callers remembered per method for the lookup below; the window itself bounds its keys. */
const REMEMBERED_CALLERS_PER_METHOD = 32;

/** Creates a recorder with its own one-minute window (or `options.seconds`). */
export function createRedRecorder(options: RedRecorderOptions = {}): RedRecorder {
  const window = new RedWindow(options);
  const callerOf = options.callerOf ?? (() => "");
  // The window's keys by method object and caller, so a call does not build the window's string key.
  const keys = new WeakMap<DescMethod, Map<string, RedKey>>();
  const hooks: ServerCallHooks = {
    begin(service, context) {
      const caller = callerOf(context);
      let byCaller = keys.get(context.method);
      if (byCaller === undefined) keys.set(context.method, (byCaller = new Map()));
      let key = byCaller.get(caller);
      if (key === undefined) {
        key = window.key(service.typeName, context.method.name, caller);
        if (key === undefined) return undefined;
        if (byCaller.size < REMEMBERED_CALLERS_PER_METHOD) byCaller.set(caller, key);
      }
      return new Token(key, performance.now());
    },
    end(token, error: ConnectError | undefined) {
      if (token === undefined) return;
      const t = token as Token;
      t.key.record(Math.floor(Date.now() / 1000), performance.now() - t.started, error !== undefined);
    },
  };
  return { hooks, window };
}
