// Observatoire web : paramètres, carte, liste des communes au clavier, fiche, comparaison, téléchargements.
import { getJSON, url } from "./api.js";
import { escapeHtml as h, fmt } from "./format.js";
import { renderComparison, renderDepartures, renderFiche, renderTrend } from "./fiche.js";
import * as carto from "./map.js";
import { initScenario, isPlacing, refreshDepartures } from "./scenario.js";

const $ = (id) => document.getElementById(id);
const state = { catalog: null, map: null, mapOk: false, compare: [], layerToken: 0, legend: null };

function params() {
  return {
    snapshot: $("snapshot").value || undefined,
    level: $("level").value || "commune",
    profession: $("profession").value || "generaliste",
    measure: $("measure").value || "density_per_100k",
    method: $("method").value || "seuils",
    classes: $("classes").value || "5",
  };
}

function fillSelect(select, items, selected) {
  select.innerHTML = items.map((it) => `<option value="${h(it.id)}">${h(it.label)}</option>`).join("");
  if (selected && items.some((it) => it.id === selected)) select.value = selected;
}

function showError(where, error) {
  where.innerHTML = `<p class="note" role="alert">Erreur : ${h(error.message)}</p>`;
}

async function loadSnapshots() {
  const snaps = await getJSON("/api/snapshots");
  $("snapshot").innerHTML = snaps.slice().reverse().map((s) =>
    `<option value="${h(s.snapshot_id)}">${h(s.snapshot_id)}${s.latest ? " (dernier)" : ""}</option>`).join("");
  const wanted = new URLSearchParams(window.location.search).get("snapshot");
  if (wanted && snaps.some((s) => s.snapshot_id === wanted)) $("snapshot").value = wanted;
}

async function loadCatalog() {
  const p = params();
  state.catalog = await getJSON("/api/catalog", { snapshot: p.snapshot });
  const c = state.catalog;
  fillSelect($("level"), c.levels.map((l) => ({ id: l.id, label: `${l.label} (${l.count})` })), p.level);
  fillSelect($("profession"), c.professions, p.profession);
  fillSelect($("method"), c.methods, p.method);
  updateMeasures();
  renderSources(c.sources || []);
  $("snapshot-info").textContent = `Instantané ${c.snapshot_id} — territoire ${c.territory}, construit le ` +
    `${c.created_at.slice(0, 16)} UTC${c.description ? ` ; ${c.description}` : ""}`;
}

function updateMeasures() {
  const p = params();
  const measures = state.catalog.measures.filter((m) => (!m.generaliste_only || p.profession === "generaliste") &&
    (!m.levels || m.levels.includes(p.level)));  // no density on 200 m cells: APL and distance there
  const wanted = state.measureTouched && measures.some((m) => m.id === p.measure) ? p.measure
    : measures.some((m) => m.id === "apl") ? "apl" : p.measure;
  fillSelect($("measure"), measures, wanted);
  updateClassesControl();
}

function updateClassesControl() {  // the APL classes of meaning have a fixed number of classes
  const fixed = $("method").value === "seuils" && $("measure").value === "apl";
  $("classes").disabled = fixed;
  $("classes-label").classList.toggle("disabled", fixed);
}

function clearFiche() {  // another snapshot: the fiche and the comparison shown were of the previous one
  $("fiche").innerHTML = '<h2 id="fiche-title">Fiche</h2><p class="subtle">Cliquez une unité sur la carte ' +
    "ou choisissez une commune dans la liste.</p>";
  delete $("fiche").dataset.unitId;
  state.compare = [];
  $("compare-body").innerHTML = "";
  if (state.mapOk) carto.select(state.map, "");
}

function renderSources(sources) {
  $("sources-info").textContent = "Millésimes des données : " +
    sources.map((s) => `${s.label} ${s.vintage}`).join(" · ");
}

function bivariateGrid(legend) {  // 3 × 3: access class (rows, best on top) × need class (columns)
  const b = legend.bivariate;
  const byKey = Object.fromEntries(legend.classes.map((c) => [c.label.slice(0, 5), c]));
  const cells = b.rows.map((row) => row.map((key) => {
    const c = byKey[key];
    return `<td class="bivariate-cell" style="background:${c.color}" title="${h(c.label)}" ` +
      `data-class="${key}">${c.count}</td>`;
  }).join("")).map((r, i) => `<tr><th scope="row">A${3 - i}</th>${r}</tr>`).join("");
  return `<table class="bivariate" aria-label="Légende 3 × 3 : accès × besoin"><caption>${h(b.y_label)}</caption>` +
    `<tbody>${cells}<tr><td></td><th>B1</th><th>B2</th><th>B3</th></tr></tbody></table>` +
    `<p class="subtle">${h(b.x_label)} ; A1 : APL la plus faible, B3 : besoin le plus fort ; ` +
    `nombre d'unités dans chaque case.</p><p class="note" data-field="bivariate-note">${h(b.note)}</p>`;
}

function renderLegend(legend, sitesLegend) {
  const open = $("legend").querySelector("details") ? $("legend").querySelector("details").open : true;
  let html = `<details${open ? " open" : ""}><summary>Légende</summary>` +
    `<h2>${h(legend.label)}</h2><p class="subtle">${h(legend.unit)} — ${h(legend.method_label)}</p><ul>`;
  if (legend.bivariate) html = html.slice(0, -4) + bivariateGrid(legend) + "<ul>";
  for (const c of legend.bivariate ? [] : legend.classes) {
    html += `<li><span class="swatch" style="background:${c.color}"></span>${h(c.label)} ` +
      `<span class="subtle">(${c.count})</span></li>`;
  }
  if (legend.missing.count) {
    html += `<li><span class="swatch" style="background:${legend.missing.color}"></span>${h(legend.missing.label)} ` +
      `<span class="subtle">(${legend.missing.count})</span></li>`;
  }
  html += "</ul>";
  if (legend.threshold) html += `<p class="subtle">Seuil : ${h(legend.threshold.label)}</p>`;
  if (sitesLegend) {
    html += "<h2>Lieux d'exercice</h2><ul>" + sitesLegend.filter((s) => s.count).map((s) =>
      `<li><span class="dot" style="background:${s.color}"></span>${h(s.label)} <span class="subtle">(${s.count})</span></li>`
    ).join("") + "</ul>";
  }
  $("legend").innerHTML = html + "</details>";
}

function updateDownloads() {
  const p = params();
  const layerParams = { snapshot: p.snapshot, profession: p.profession, measure: p.measure, method: p.method, classes: p.classes };
  $("dl-layer-csv").href = url(`/api/downloads/layers/${p.level}.csv`, layerParams);
  $("dl-layer-geojson").href = url(`/api/downloads/layers/${p.level}.geojson`, layerParams);
  $("dl-sites-csv").href = url("/api/downloads/sites.csv", { snapshot: p.snapshot, profession: p.profession });
  $("dl-sites-geojson").href = url("/api/downloads/sites.geojson", { snapshot: p.snapshot, profession: p.profession });
}

async function loadLayer() {
  const token = ++state.layerToken;
  const p = params();
  document.body.dataset.layerReady = "";
  updateDownloads();
  const layer = await getJSON(`/api/layers/${p.level}`, { snapshot: p.snapshot, profession: p.profession,
    measure: p.measure, method: p.method, classes: p.classes });
  const sites = $("show-sites").checked
    ? await getJSON("/api/sites", { snapshot: p.snapshot, profession: p.profession }) : null;
  const contours = p.level !== "commune"
    ? await getJSON("/api/layers/commune", { snapshot: p.snapshot, profession: p.profession }) : null;
  if (token !== state.layerToken) return;
  state.legend = layer.legend;
  state.lastLayer = layer;
  state.labelUnits = carto.labelPoints(p.level === "commune" ? layer : contours);
  renderLegend(layer.legend, sites && sites.legend);
  const note = layer.geometries && layer.geometries.message;
  $("map-note").textContent = note ? `${note.charAt(0).toUpperCase()}${note.slice(1)}.` : "";
  $("map-note").hidden = !note;
  const key = `${p.level}:${p.profession}:${p.measure}:${layer.features.length}`;
  if (!state.mapOk) {
    document.body.dataset.layerReady = key;
    return;
  }
  const map = state.map;
  await carto.whenReady(map);
  const overlaid = getComputedStyle($("legend")).position === "absolute";  // on a phone it is below the map
  carto.setUnits(map, layer, overlaid ? {
    top: 30, bottom: 30,
    left: Math.min($("downloads").offsetWidth + 20, map.getContainer().offsetWidth / 4),
    right: Math.min($("legend").offsetWidth + 20, map.getContainer().offsetWidth / 3),
  } : 12);
  carto.setContours(map, contours);
  carto.setSites(map, sites);
  carto.updateLabels(map, state.labelUnits);
  await carto.whenIdle(map);
  if (token === state.layerToken) document.body.dataset.layerReady = key;
}

function tooltipHtml(props) {
  const lg = state.legend;
  const cls = lg.classes[props.class];
  if (lg.bivariate) {
    return `<strong>${h(carto.unitName(props))}</strong><br>` + (cls
      ? `<span class="swatch" style="background:${cls.color}"></span> ${h(cls.label)}` : h(lg.missing.label));
  }
  const value = props.value === null || props.value === undefined ? "non renseigné" : `${fmt(props.value, lg.digits)} ` +
    `<span class="subtle">${h(lg.unit)}</span>`;
  return `<strong>${h(carto.unitName(props))}</strong><br>${h(lg.label)} : ${value}` +
    (cls ? `<br><span class="swatch" style="background:${cls.color}"></span> ${h(cls.label)}` : "");
}

let searchTimer = null;
async function search() {
  const p = params();
  const level = "commune";  // the keyboard list is the communes' list at every map level
  const q = $("search").value.trim();
  const units = await getJSON(`/api/units/${level}`, { snapshot: p.snapshot, q, limit: 60 });
  $("unit-list").innerHTML = units.map((u) => `<li><button type="button" data-unit="${h(u.unit_id)}" ` +
    `data-level="${h(level)}">${h(u.name)} <span class="pop">${h(u.unit_id)} · ${fmt(u.population, 0)} hab.</span>` +
    "</button></li>").join("") || "<li class=\"note\">Aucune unité ne correspond.</li>";
}

async function openFiche(level, unitId, { focus = false } = {}) {
  const p = params();
  const section = $("fiche");
  try {
    const fiche = await getJSON(`/api/units/${level}/${encodeURIComponent(unitId)}`, { snapshot: p.snapshot });
    renderFiche(section, fiche, {
      onCompare: addToCompare,
      downloadHref: url(`/api/downloads/units/${level}/${encodeURIComponent(unitId)}.csv`, { snapshot: p.snapshot }),
    });
    section.dataset.level = level;
    if (state.mapOk && level === p.level) carto.select(state.map, unitId);
    if (focus) section.focus();
  } catch (error) {
    showError(section, error);
    return;
  }
  const unitPath = `/api/units/${level}/${encodeURIComponent(unitId)}`;
  const [departs, trend] = await Promise.allSettled([
    getJSON(`${unitPath}/departs`, { snapshot: p.snapshot }), getJSON(`${unitPath}/trend`, { snapshot: p.snapshot })]);
  if (section.dataset.unitId !== unitId) return;  // another fiche was opened meanwhile
  if (trend.status === "fulfilled") renderTrend(section, trend.value);
  if (departs.status === "fulfilled") renderDepartures(section, departs.value);
}

async function addToCompare(fiche) {
  state.compare = [...state.compare.filter((f) => f.unit_id !== fiche.unit_id || f.level !== fiche.level), fiche]
    .filter((f) => f.level === fiche.level).slice(-2);
  const body = $("compare-body");
  if (state.compare.length < 2) {
    body.innerHTML = `<p class="note">${h(fiche.name)} retenue ; ouvrez une deuxième fiche et ajoutez-la.</p>`;
    return;
  }
  const [a, b] = state.compare;
  const p = params();
  try {
    const comparison = await getJSON(`/api/compare/${a.level}`, { snapshot: p.snapshot, a: a.unit_id, b: b.unit_id });
    renderComparison(body, comparison, url(`/api/downloads/compare/${a.level}.csv`,
      { snapshot: p.snapshot, a: a.unit_id, b: b.unit_id }), () => {
      state.compare = [];
      body.innerHTML = "";
    });
    $("compare").focus();
  } catch (error) {
    showError(body, error);
  }
}

function initMap() {
  try {
    if (!window.maplibregl) throw new Error("MapLibre GL JS non chargé");
    state.map = carto.createMap("map", localStorage.getItem("accesoins.basemap") || "");
    state.mapOk = true;
    window.accesoinsMap = state.map;
    for (const id of ["unites-fill", "unites-circle"]) {  // polygons, and circles where no contour exists
      state.map.on("click", id, (e) => {
        const feature = e.features && e.features[0];
        if (feature && !isPlacing()) openFiche(params().level, feature.properties.unit_id);
      });
      state.map.on("mouseenter", id, () => { state.map.getCanvas().style.cursor = "pointer"; });
      state.map.on("mouseleave", id, () => {
        state.map.getCanvas().style.cursor = "";
        carto.hideTooltip();
      });
      state.map.on("mousemove", id, (e) => {
        const f = e.features && e.features[0];
        if (f && state.legend) carto.showTooltip(state.map, e.lngLat, tooltipHtml(f.properties));
      });
    }
    state.map.on("moveend", () => carto.updateLabels(state.map, state.labelUnits));
    state.map.on("error", (e) => console.warn("carte :", e.error && e.error.message));
  } catch (error) {
    state.mapOk = false;
    $("map").innerHTML = `<p id="map-error" role="alert">Carte indisponible (${h(error.message)}) : ` +
      "utilisez la liste des communes, les fiches et les téléchargements.</p>";
  }
}

function bindControls() {
  $("measure").addEventListener("change", () => { state.measureTouched = true; updateClassesControl(); });
  $("method").addEventListener("change", updateClassesControl);
  for (const id of ["measure", "method", "classes", "show-sites"]) $(id).addEventListener("change", () => loadLayer());
  $("level").addEventListener("change", () => { updateMeasures(); loadLayer(); });
  $("profession").addEventListener("change", () => { updateMeasures(); loadLayer(); });
  $("snapshot").addEventListener("change", async () => {
    clearFiche();
    await loadCatalog();
    await loadLayer();
    search();
    refreshDepartures();
  });
  $("search").addEventListener("input", () => { clearTimeout(searchTimer); searchTimer = setTimeout(search, 150); });
  $("search").addEventListener("keydown", (e) => {
    if (e.key === "ArrowDown" || e.key === "Enter") {
      const first = $("unit-list").querySelector("button");
      if (first) { e.preventDefault(); if (e.key === "Enter") first.click(); else first.focus(); }
    }
  });
  $("unit-list").addEventListener("click", (e) => {
    const button = e.target.closest("button[data-unit]");
    if (button) openFiche(button.dataset.level, button.dataset.unit, { focus: true });
  });
  $("unit-list").addEventListener("keydown", (e) => {
    const buttons = [...$("unit-list").querySelectorAll("button")];
    const i = buttons.indexOf(document.activeElement);
    if (e.key === "ArrowDown" && i < buttons.length - 1) { e.preventDefault(); buttons[i + 1].focus(); }
    if (e.key === "ArrowUp") { e.preventDefault(); (i > 0 ? buttons[i - 1] : $("search")).focus(); }
  });
  const large = localStorage.getItem("accesoins.large") === "1" || new URLSearchParams(location.search).has("grand");
  $("large").checked = large;
  document.documentElement.classList.toggle("large", large);
  $("large").addEventListener("change", () => {
    document.documentElement.classList.toggle("large", $("large").checked);
    localStorage.setItem("accesoins.large", $("large").checked ? "1" : "0");
    if (state.mapOk) {
      state.map.resize();
      const b = state.map.getSource("unites") && carto.bbox(state.lastLayer || { features: [] });
      if (b) state.map.fitBounds(b, { padding: 30, duration: 0 });  // legend folds away on a projector
    }
  });
  $("basemap").value = localStorage.getItem("accesoins.basemap") || "";
  $("basemap-apply").addEventListener("click", () => {
    localStorage.setItem("accesoins.basemap", $("basemap").value.trim());
    location.reload();
  });
}

async function showRegistersLink() {  // the registers are mounted only when configured
  const response = await fetch("/registres/", { method: "HEAD" }).catch(() => null);
  if (response && response.ok) for (const id of ["registres-link", "registres-footer"]) $(id).hidden = false;
}

async function main() {
  bindControls();
  showRegistersLink();
  initMap();
  initScenario({ map: state.mapOk ? state.map : null, getParams: params, onBack: () => loadLayer() });
  try {
    await loadSnapshots();
    await loadCatalog();
    await Promise.all([loadLayer(), search()]);
  } catch (error) {
    $("snapshot-info").textContent = `Erreur : ${error.message}`;
  }
}

main();
