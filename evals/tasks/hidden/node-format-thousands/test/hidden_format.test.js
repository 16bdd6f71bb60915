import { test } from "node:test";
import assert from "node:assert/strict";
import { formatCents } from "../src/cart.js";

test("groups thousands", () => {
  assert.equal(formatCents(123456789), "1,234,567.89");
});

test("negative amounts keep their sign", () => {
  assert.equal(formatCents(-123456), "-1,234.56");
  assert.equal(formatCents(-5), "-0.05");
});

test("small amounts", () => {
  assert.equal(formatCents(7), "0.07");
});
