import { test } from "node:test";
import assert from "node:assert/strict";
import { buildQuery } from "../src/cart.js";

test("keys and values are percent-encoded", () => {
  assert.equal(buildQuery({ q: "a&b=c d" }), "q=a%26b%3Dc%20d");
});

test("missing values are left out", () => {
  assert.equal(buildQuery({ item: 42, coupon: undefined, note: null }), "item=42");
});

test("plain values unchanged", () => {
  assert.equal(buildQuery({ item: 42, qty: 2 }), "item=42&qty=2");
});
