import assert from "node:assert/strict"
import { test } from "node:test"
import { slugify } from "../src/slug.js"

test("slugify keeps digits", () => {
  assert.equal(slugify("Pixel 9 Pro"), "pixel-9-pro")
})
