/** Whether an order for `quantity` items can be served from `inStock`. */
export const canServe = (inStock, quantity) => quantity < inStock
