import { test } from "node:test";
import assert from "node:assert/strict";
import { applyDiscount } from "../src/cart.js";

test("discounts round to the nearest cent", () => {
  assert.equal(applyDiscount(995, 15), 846);
});

test("percent is clamped to 0..100", () => {
  assert.equal(applyDiscount(1000, 150), 0);
  assert.equal(applyDiscount(1000, -5), 1000);
});

test("whole discounts stay exact", () => {
  assert.equal(applyDiscount(1000, 10), 900);
});
