// The pure half of following the primary: a libpq multi-host URL becomes one URL per host (the failover
// itself is drilled against real servers in test/cluster/postgres-failover.test.ts).

import { describe, expect, it } from "vitest";
import { splitPostgresHosts } from "./primary-pool.ts";

describe("splitPostgresHosts", () => {
  it("gives one URL per host with the credentials, database and parameters of the whole, without target_session_attrs", () => {
    expect(splitPostgresHosts("postgres://app:pw@h1:5432,h2:5433/weft?sslmode=disable&target_session_attrs=read-write")).toEqual([
      "postgres://app:pw@h1:5432/weft?sslmode=disable",
      "postgres://app:pw@h2:5433/weft?sslmode=disable",
    ]);
    expect(splitPostgresHosts("postgresql://h1, h2/db?target_session_attrs=read-write")).toEqual(["postgresql://h1/db", "postgresql://h2/db"]);
    expect(splitPostgresHosts("postgres://postgres@127.0.0.1:5432/weft")).toEqual(["postgres://postgres@127.0.0.1:5432/weft"]);
  });
});
