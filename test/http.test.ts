import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "./helpers.js";

let t: TestGateway;
let url: URL;
beforeAll(async () => {
  t = await startTestGateway({ seed: { contacts: 2, conversations: 2 } });
  url = await t.gateway.listen(0, "127.0.0.1");
});
afterAll(() => t?.close());

/** A POST of `{ __typename }` on `agent`'s connections: its status, and whether it reused an open connection. */
function post(agent: http.Agent, token: string): Promise<{ status: number; reused: boolean }> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method: "POST", agent, headers: { "content-type": "application/json", authorization: `Bearer ${token}` } }, (response) => {
      response.resume();
      response.on("end", () => resolve({ status: response.statusCode!, reused: request.reusedSocket }));
    });
    request.on("error", reject);
    request.end(JSON.stringify({ query: "{ __typename }" }));
  });
}

describe("HTTP connections", () => {
  it("keeps an idle connection open past Node's 5 s default, so a load balancer's reused connection is not closed under it", async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const token = await t.token();
      expect(await post(agent, token)).toEqual({ status: 200, reused: false });
      await new Promise((resolve) => setTimeout(resolve, 6_000));
      expect(await post(agent, token)).toEqual({ status: 200, reused: true });
    } finally {
      agent.destroy();
    }
  }, 20_000);
});
