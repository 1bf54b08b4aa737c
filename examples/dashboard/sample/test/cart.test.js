import assert from "node:assert/strict"
import { test } from "node:test"
import { discount, total } from "../src/cart.js"

test("total multiplies each price by its quantity", () => {
  assert.equal(total([{ price: 250, quantity: 2 }, { price: 100, quantity: 1 }]), 600)
})

test("discount takes a percentage", () => {
  assert.equal(discount(1000, 15), 150)
})
