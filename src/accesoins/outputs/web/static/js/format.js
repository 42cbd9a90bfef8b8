// Mise en forme française des nombres.
const cache = new Map();

export function fmt(value, digits = 1) {
  if (value === null || value === undefined || Number.isNaN(value)) return "—";
  if (!cache.has(digits)) {
    cache.set(digits, new Intl.NumberFormat("fr-FR", { minimumFractionDigits: digits, maximumFractionDigits: digits }));
  }
  return cache.get(digits).format(value);
}

export function signed(value, digits = 1) {
  if (value === null || value === undefined) return "—";
  return (value > 0 ? "+" : "") + fmt(value, digits);
}

export function escapeHtml(text) {
  return String(text ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;",
    "'": "&#39;" })[c]);
}
