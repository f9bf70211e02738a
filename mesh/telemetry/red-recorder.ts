// The admin API's RED figures as a server call hook: every admitted call ends in its (service, method,
// caller) key of a bounded one-minute window (red-window.ts). The caller is the calling service when
// the call came through the mesh (see `callerOf`), so the figures also give the mesh graph's edges.

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

/** Creates a recorder with its own one-minute window (or `options.seconds`). */
export function createRedRecorder(options: RedRecorderOptions = {}): RedRecorder {
  const window = new RedWindow(options);
  const callerOf = options.callerOf ?? (() => "");
  const hooks: ServerCallHooks = {
    begin(service, context) {
      const key = window.key(service.typeName, context.method.name, callerOf(context));
      return key === undefined ? undefined : new Token(key, performance.now());
    },
    end(token, error: ConnectError | undefined) {
      if (token === undefined) return;
      const t = token as Token;
      t.key.record(Math.floor(Date.now() / 1000), performance.now() - t.started, error !== undefined);
    },
  };
  return { hooks, window };
}
