/** Shopping-cart arithmetic. Amounts are integers in cents. */

/** The total after taking `percent` percent off. */
export function applyDiscount(totalCents, percent) {
  return totalCents - (totalCents * percent) / 100;
}

/** An amount as the receipt shows it: "12.34". */
export function formatCents(cents) {
  const whole = Math.trunc(cents / 100);
  const rest = String(Math.abs(cents % 100)).padStart(2, "0");
  return `${whole}.${rest}`;
}

/** The query string of a link to the cart: "item=42&qty=2". */
export function buildQuery(params) {
  return Object.entries(params)
    .map(([key, value]) => `${key}=${value}`)
    .join("&");
}
