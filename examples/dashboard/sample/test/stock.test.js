import assert from "node:assert/strict"
import { test } from "node:test"
import { canServe } from "../src/stock.js"

test("the last item in stock can be sold", () => {
  assert.equal(canServe(3, 3), true)
})
