import { test } from "node:test";
import assert from "node:assert/strict";
import { applyDiscount, buildQuery, formatCents } from "../src/cart.js";

test("a ten percent discount", () => {
  assert.equal(applyDiscount(1000, 10), 900);
});

test("formats cents", () => {
  assert.equal(formatCents(1234), "12.34");
});

test("builds a query", () => {
  assert.equal(buildQuery({ item: 42, qty: 2 }), "item=42&qty=2");
});
