import { SELF } from "cloudflare:test";
import { expect, it } from "vitest";

it("the worker answers its index", async () => {
  const res = await SELF.fetch("http://edgelog.test/");
  expect(res.status).toBe(200);
  expect(await res.json()).toMatchObject({ name: "edgelog" });
});
