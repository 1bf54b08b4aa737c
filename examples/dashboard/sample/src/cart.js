// Prices are in cents so that totals are exact.

/** The total of a cart, in cents: each line's unit price times its quantity. */
export const total = (lines) => lines.reduce((sum, line) => sum + line.price, 0)

/** A discount in percent off a total, in cents, rounded to the nearest cent. */
export const discount = (totalCents, percent) => Math.round(totalCents * percent)
