// Fiche d'une unité et comparaison côte à côte : mêmes chiffres que /api/units/{niveau}/{code}.
import { escapeHtml as h, fmt, signed } from "./format.js";

function cell(field, value, digits, extra = "") {
  const raw = value === null || value === undefined ? "" : String(value);
  return `<td data-field="${field}" data-value="${raw}">${fmt(value, digits)}${extra}</td>`;
}

function aplBadge(p) {
  if (!p.apl_class) return "";
  const low = p.apl_class === "sous_dotee";
  return ` <span class="badge ${low ? "low" : "ok"}" data-field="${p.profession}.apl_class">${h(p.apl_class_label)}</span>`;
}

function professionTable(p, fiche) {
  const d = p.departement || {};
  const pre = p.profession;
  const rows = [
    `<tr><th scope="row">Effectif (praticiens)</th>${cell(`${pre}.headcount`, p.headcount, 0)}` +
      `${cell(`${pre}.departement.headcount`, d.headcount, 0)}</tr>`,
    `<tr><th scope="row">Équivalents temps plein</th>${cell(`${pre}.etp`, p.etp, 1)}` +
      `${cell(`${pre}.departement.etp`, d.etp, 1)}</tr>`,
    `<tr><th scope="row">Densité (ETP pour 100 000 hab.)</th>${cell(`${pre}.density_per_100k`, p.density_per_100k, 1)}` +
      `${cell(`${pre}.departement.density_per_100k`, d.density_per_100k, 1)}</tr>`,
    `<tr><th scope="row">Densité standardisée (âge)</th>` +
      `${cell(`${pre}.std_density_per_100k`, p.std_density_per_100k, 1)}` +
      `${cell(`${pre}.departement.std_density_per_100k`, d.std_density_per_100k, 1)}</tr>`,
  ];
  if (p.apl !== null && p.apl !== undefined) {
    rows.push(`<tr><th scope="row">APL (consultations par hab. et par an)</th>` +
      `${cell(`${pre}.apl`, p.apl, 2, aplBadge(p))}${cell(`${pre}.departement.apl`, d.apl, 2)}</tr>`);
  }
  let html = `<h3>${h(p.label)}</h3><table><thead><tr><th scope="col">Indicateur</th>` +
    `<th scope="col">${h(fiche.name)}</th><th scope="col">Département ${h(d.code || "")}</th></tr></thead>` +
    `<tbody>${rows.join("")}</tbody></table>`;
  if (p.national) {
    html += `<p class="note">Référence nationale : APL moyenne <strong data-field="${pre}.national.apl" ` +
      `data-value="${p.national.apl}">${fmt(p.national.apl, 2)}</strong> (${h(p.national.label)}).`;
    if (p.national.apl_drees_unit !== null && p.national.apl_drees_unit !== undefined) {
      html += ` APL publiée par la DREES pour cette commune : ${fmt(p.national.apl_drees_unit, 2)}.`;
      html += ` <span class="why-drees">Pourquoi un écart avec « notre APL » ${fmt(p.apl, 2)} ? La DREES part de ` +
        "l'activité réelle de chaque médecin (consultations remboursées), de tous les médecins de France, y " +
        "compris hors du territoire construit ici, et d'un distancier routier ; notre APL ne compte que les " +
        "praticiens du fichier chargé (son millésime est en tête de page), avec une activité moyenne par ETP " +
        "et des temps estimés. La DREES reste la référence officielle ; notre calcul sert à comparer les " +
        "lieux entre eux et à simuler des changements.</span>";
    }
    html += "</p>";
  }
  const precision = Object.entries(p.precision || {}).map(([k, v]) => `${v} ${h((p.precision_labels || {})[k] || "")}`);
  if (precision.length) html += `<p class="note">Activités localisées : ${precision.join(", ")}.</p>`;
  if (p.change) {
    const c = p.change;
    html += c.changed
      ? `<p class="note">Depuis ${h(c.previous_snapshot_id)} : effectif ${signed(c.headcount_delta, 0)}` +
        (c.apl_delta !== null && c.apl_delta !== undefined ? `, APL ${signed(c.apl_delta, 2)}` : "") +
        (c.arrivals !== null && c.arrivals !== undefined ? ` (${c.arrivals} arrivée(s), ${c.departures} départ(s))` : "") +
        ".</p>"
      : `<p class="note">Aucun changement depuis ${h(c.previous_snapshot_id)}.</p>`;
  }
  return html;
}

function ratio(value, low, high) {
  if (value === null || value === undefined) return "—";
  const top = high === null || high === undefined ? "∞" : fmt(high, 2);
  return `${fmt(value, 2)} [${fmt(low, 2)} ; ${top}]`;
}

/** A QPV's or quartier's densities against the rest of its commune and of its unité urbaine (ONPV question). */
function comparisonTable(rows) {
  if (!rows || !rows.length) return "";
  const body = rows.map((r) => `<tr data-field="comparaison.${h(r.profession)}"><th scope="row">${h(r.label)}</th>` +
    `<td>${fmt(r.density_in, 1)}</td><td>${fmt(r.density_rest, 1)}</td>` +
    `<td data-field="comparaison.${h(r.profession)}.ratio">${ratio(r.density_ratio, r.ratio_low, r.ratio_high)}</td>` +
    `<td data-field="comparaison.${h(r.profession)}.ratio_uu">${ratio(r.density_ratio_uu, r.ratio_low_uu, r.ratio_high_uu)}</td>` +
    "</tr>").join("");
  const notes = [...new Set(rows.map((r) => r.uu_note).filter(Boolean))];
  return "<h3>Comparée au reste de sa commune et de son unité urbaine</h3><table><thead><tr>" +
    "<th scope=\"col\">Profession</th><th scope=\"col\">Densité dans la zone</th>" +
    "<th scope=\"col\">dans le reste de la commune</th><th scope=\"col\">Rapport [IC 95 %]</th>" +
    "<th scope=\"col\">Rapport au reste de l'unité urbaine</th></tr></thead>" +
    `<tbody>${body}</tbody></table><p class="note">Densités en ETP pour 100 000 habitants (praticiens localisés ` +
    "dans la commune) ; un rapport inférieur à 1 signifie moins de praticiens dans la zone. " +
    notes.map((n) => `${h(n.charAt(0).toUpperCase() + n.slice(1))}.`).join(" ") + "</p>";
}

function needsHtml(fiche) {  // local indicators beside the territory, priority class, official zoning
  let html = "";
  const rows = fiche.local_indicators || [];
  if (rows.length) {
    const about = (r) => [[r.unit, r.year].filter((x) => x !== null && x !== "").join(", "), r.note]
      .filter(Boolean).join(" ; ");
    const body = rows.map((r) => `<tr><th scope="row">${h(r.label)}` +
      `${about(r) ? ` <span class="subtle">(${h(about(r))})</span>` : ""}</th>` +
      `${cell(`local.${r.level}.${r.indicator}`, r.value, r.digits)}` +
      `<td>${fmt(r.reference, r.digits)} <span class="subtle">${h(r.reference_label)}</span></td></tr>`).join("");
    const sources = [...new Set(rows.map((r) => r.source))].map(h).join(" ; ");
    html += `<h3>Besoins de santé et situation sociale</h3><table><thead><tr><th scope="col">Indicateur</th>` +
      `<th scope="col">${h(fiche.name)}</th><th scope="col">Territoire</th></tr></thead><tbody>${body}</tbody></table>` +
      `<p class="note">Sources : ${sources}. Case vide : valeur couverte par le secret du producteur ou unité regroupée.</p>`;
  }
  if (fiche.priority) {
    const p = fiche.priority;
    html += `<p>Priorité accès × besoin : <strong data-field="priority">${h(p.bivariate)}</strong>` +
      (p.rank ? ` (rang ${p.rank} des unités prioritaires)` : "") +
      ` <span class="subtle">— besoin : ${h(p.need_label)} ; ${h(p.note)}</span></p>`;
  }
  const zoning = fiche.official_zoning || [];
  if (zoning.length) {
    html += "<h3>Zonage officiel de l'ARS</h3><ul>" + zoning.map((z) =>
      `<li data-field="zoning.${h(z.profession)}"><strong>${h(z.profession_label)}</strong> : ${h(z.label)} ` +
      `<span class="subtle">(${h(z.scope)} ; ${h(z.source)})</span>` +
      (z.aid ? `<br>Aides liées : ${h(z.aid)}` : "") + (z.rule ? `<br>${h(z.rule)}` : "") + "</li>").join("") +
      "</ul>";
  }
  return html;
}

export function renderFiche(container, fiche, { onCompare, downloadHref }) {
  container.innerHTML = `<h2 id="fiche-title">Fiche : <span data-field="name">${h(fiche.name)}</span> ` +
    `<span class="subtle">(${h(fiche.level_label)} ${h(fiche.unit_id)})</span></h2>` +
    `<p>Population : <strong data-field="population" data-value="${fiche.population ?? ""}">` +
    `${fmt(fiche.population, 0)}</strong> habitants</p>` +
    fiche.professions.map((p) => professionTable(p, fiche)).join("") +
    comparisonTable(fiche.comparison) + needsHtml(fiche) +
    fiche.notes.map((n) => `<p class="note">${h(n)}</p>`).join("") +
    `<p><button type="button" id="add-compare">Ajouter à la comparaison</button> ` +
    `<a class="button" href="${downloadHref}" download>Télécharger la fiche (CSV)</a></p>`;
  container.dataset.unitId = fiche.unit_id;
  container.querySelector("#add-compare").addEventListener("click", () => onCompare(fiche));
}

export function renderComparison(container, comparison, downloadHref, onClear) {
  const [a, b] = comparison.units;
  const professions = a.professions.map((p) => p.profession);
  const line = (label, get, digits) => `<tr><th scope="row">${label}</th><td>${fmt(get(a), digits)}</td>` +
    `<td>${fmt(get(b), digits)}</td></tr>`;
  let body = line("Population", (f) => f.population, 0);
  for (const prof of professions) {
    const pick = (f) => f.professions.find((p) => p.profession === prof) || {};
    const label = pick(a).label || prof;
    body += `<tr><th scope="rowgroup" colspan="3">${h(label)}</th></tr>`;
    body += line("Effectif", (f) => pick(f).headcount, 0);
    body += line("Densité (ETP pour 100 000 hab.)", (f) => pick(f).density_per_100k, 1);
    body += line("Densité standardisée", (f) => pick(f).std_density_per_100k, 1);
    if (pick(a).apl !== null && pick(a).apl !== undefined) {
      body += line("APL", (f) => pick(f).apl, 2);
      body += `<tr><th scope="row">Classe APL</th><td>${h(pick(a).apl_class_label)}</td><td>${h(pick(b).apl_class_label)}</td></tr>`;
    }
  }
  const needs = needsComparison(a, b, line);
  body += needs.body;
  container.innerHTML = `<table><thead><tr><th scope="col">Indicateur</th><th scope="col">${h(a.name)}</th>` +
    `<th scope="col">${h(b.name)}</th></tr></thead><tbody>${body}</tbody></table>` + needs.folded +
    `<p><a class="button" href="${downloadHref}" download>Télécharger la comparaison (CSV)</a> ` +
    `<button type="button" class="secondary" id="compare-clear">Vider la comparaison</button></p>`;
  container.querySelector("#compare-clear").addEventListener("click", onClear);
}

/** Local indicators of two fiches, side by side: the units' own rows, priority class and official zoning
 * (in the comparison's table), and their bassins de vie's rows (folded below it: a long list). */
function needsComparison(a, b, line) {
  const key = (r) => `${r.level}.${r.indicator}`;
  const indicators = new Map();
  for (const f of [a, b]) for (const r of f.local_indicators || []) if (!indicators.has(key(r))) indicators.set(key(r), r);
  const rowsOf = (bassin) => [...indicators].filter(([, r]) => (r.level === "bassin_vie") === bassin).map(([k, r]) => {
    const value = (f) => (f.local_indicators || []).find((x) => key(x) === k)?.value;
    return line(`${h(r.label)}${r.unit ? ` <span class="subtle">(${h(r.unit)})</span>` : ""}`, value, r.digits);
  }).join("");
  const own = rowsOf(false);
  let body = own ? `<tr><th scope="rowgroup" colspan="3">Besoins de santé et situation sociale</th></tr>${own}` : "";
  const text = (cellA, cellB, label, field) => `<tr data-field="${field}"><th scope="row">${label}</th>` +
    `<td>${h(cellA ?? "—")}</td><td>${h(cellB ?? "—")}</td></tr>`;
  if (a.priority || b.priority) {
    body += text(a.priority?.bivariate, b.priority?.bivariate, "Priorité accès × besoin", "compare.priority");
  }
  const zoned = new Map();
  for (const f of [a, b]) for (const z of f.official_zoning || []) if (!zoned.has(z.profession)) zoned.set(z.profession, z);
  for (const [profession, z] of zoned) {
    const zone = (f) => (f.official_zoning || []).find((x) => x.profession === profession)?.label;
    body += text(zone(a), zone(b), `Zonage de l'ARS : ${h(z.profession_label)}`, `compare.zoning.${h(profession)}`);
  }
  const bassins = rowsOf(true);
  const count = [...indicators.values()].filter((r) => r.level === "bassin_vie").length;
  const folded = bassins ? `<details id="compare-bassins"><summary>Bassins de vie : ${count} indicateurs</summary>` +
    `<table><thead><tr><th scope="col">Indicateur (valeur du bassin de vie)</th><th scope="col">${h(a.name)}</th>` +
    `<th scope="col">${h(b.name)}</th></tr></thead><tbody>${bassins}</tbody></table>` +
    "<p class=\"note\">— : bassin de vie de la commune inconnu (sans la table INSEE des bassins de vie, seule " +
    "la commune-centre d'un bassin en porte les valeurs) ou valeur couverte par le secret.</p></details>" : "";
  return { body, folded };
}

// Évolution de l'unité sur les instantanés du territoire (GET …/trend) : graphique SVG fait par le serveur.
export function renderTrend(container, trend) {
  const div = document.createElement("div");
  div.id = "fiche-trend";
  div.innerHTML = trend.first ? `<p class="note">${h(trend.text)}</p>`
    : `<h3>Évolution sur les instantanés</h3><figure class="trend">${trend.svg}` +
      `<figcaption class="note">${h(trend.text)}</figcaption></figure>`;
  container.querySelector("#fiche-trend")?.remove();
  container.append(div);
}

// Départs en retraite (GET …/departs) : 60 ans et plus sous la règle de diffusion, APL à l'horizon.
export function renderDepartures(container, departs) {
  container.querySelector("#fiche-departs")?.remove();
  if (!departs.available) return;
  const div = document.createElement("div");
  div.id = "fiche-departs";
  const rows = departs.professions.map((p) => `<tr><th scope="row">${h(p.label)}</th><td>${p.practitioners}</td>` +
    `<td data-field="${h(p.profession)}.seniors">${h(p.seniors_text)}</td></tr>`).join("");
  div.innerHTML = "<h3>Départs en retraite (fichier local)</h3>" +
    (rows ? `<table><thead><tr><th scope="col">Profession</th><th scope="col">Praticiens</th>` +
      `<th scope="col">dont 60 ans et plus (${departs.year})</th></tr></thead><tbody>${rows}</tbody></table>` : "") +
    `<p data-field="apl_horizon" data-value="${departs.apl_horizon ?? ""}">${h(departs.text)}</p>` +
    `<p class="note">${h(departs.rule)}</p>`;
  container.append(div);
}
