/** The URL slug of a product name: lower case, words joined by "-". */
export const slugify = (name) =>
  name
    .toLowerCase()
    .replace(/[^a-z]+/g, "-")
    .replace(/^-|-$/g, "")
