// Appels à l'API JSON de l'observatoire ; les erreurs « problem details » deviennent des Error en français.
export class ApiError extends Error {
  constructor(problem) {
    super(problem.detail || problem.title || "Erreur");
    this.problem = problem;
  }
}

export function url(path, params = {}) {
  const u = new URL(path, window.location.origin);
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== "") u.searchParams.set(k, v);
  }
  return u.pathname + u.search;
}

export async function getJSON(path, params = {}) {
  const response = await fetch(url(path, params));
  const body = await response.json();
  if (!response.ok) throw new ApiError(body);
  return body;
}

export async function postJSON(path, body) {
  const response = await fetch(url(path), {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/geo+json, application/json" },
    body: JSON.stringify(body),
  });
  const answer = await response.json();
  if (!response.ok) throw new ApiError(answer);
  return answer;
}
