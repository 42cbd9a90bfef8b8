// Panneau « Simuler » : placer une maison de santé (clic sur la carte ou longitude/latitude au clavier),
// lancer POST /api/scenarios, afficher le résumé et la carte des écarts d'APL (après − avant).
// Panneau « Départs » : le même scénario avec les départs en retraite (table de l'instantané, horizon, âge).
import { getJSON, postJSON } from "./api.js";
import { escapeHtml as h, fmt, signed } from "./format.js";
import { unitName, whenIdle, whenReady } from "./map.js";

const $ = (id) => document.getElementById(id);
const EMPTY = { type: "FeatureCollection", features: [] };
const NORMAL_LAYERS = ["unites-fill", "unites-line", "selection", "sites-circle"];
const sim = { map: null, placing: false, delta: false, popup: null, options: null, token: 0, departures: null };

export function isPlacing() { return sim.placing; }

function parseNumber(text) {
  const value = Number(String(text).trim().replace(",", "."));
  return String(text).trim() === "" || !Number.isFinite(value) ? null : value;
}

function status(text, id = "sim-status") { $(id).textContent = text; }

function setPlacing(on) {
  sim.placing = on;
  $("sim-place").setAttribute("aria-pressed", on ? "true" : "false");
  $("sim-place").textContent = on ? "Cliquez sur la carte… (Échap pour annuler)" : "Placer une maison de santé";
  $("map-wrap").classList.toggle("placing", on);
  $("sim-hint").hidden = !on;
  if (on) status("Cliquez sur la carte à l'endroit de la maison de santé, ou tapez sa longitude et sa latitude.");
}

function point() {
  const lon = parseNumber($("sim-lon").value), lat = parseNumber($("sim-lat").value);
  return lon === null || lat === null ? null : [lon, lat];
}

function drawPoint() {
  if (!sim.map || !sim.map.getSource("scenario-points")) return;
  const p = point();
  sim.map.getSource("scenario-points").setData(p ? { type: "FeatureCollection", features: [
    { type: "Feature", geometry: { type: "Point", coordinates: p }, properties: { nom: $("sim-nom").value } }] }
    : EMPTY);
}

function addLayers(map) {
  if (map.getSource("scenario")) return;
  map.addSource("scenario", { type: "geojson", data: EMPTY, promoteId: "unit_id" });
  map.addSource("scenario-points", { type: "geojson", data: EMPTY });
  map.addLayer({ id: "scenario-fill", type: "fill", source: "scenario", layout: { visibility: "none" },
    paint: { "fill-color": ["get", "color"], "fill-opacity": 0.9 } });
  map.addLayer({ id: "scenario-line", type: "line", source: "scenario", layout: { visibility: "none" },
    paint: { "line-color": "#666", "line-width": 0.4 } });
  map.addLayer({ id: "scenario-point", type: "circle", source: "scenario-points",
    paint: { "circle-color": "#111", "circle-radius": 9, "circle-stroke-color": "#fff", "circle-stroke-width": 3 } });
  map.on("click", "scenario-fill", (e) => {
    const f = e.features && e.features[0];
    if (!f || sim.placing) return;
    const p = f.properties;
    if (sim.popup) sim.popup.remove();
    sim.popup = new maplibregl.Popup({ closeButton: true }).setLngLat(e.lngLat).setHTML(
      `<strong>${h(unitName(p))}</strong> (${h(p.unit_id)})<br>APL ${fmt(p.apl_before, 2)} → ${fmt(p.apl_after, 2)} ` +
      `(<strong>${signed(p.delta, 3)}</strong>)`).addTo(map);
  });
}

function showDelta(on) {
  sim.delta = on;
  const map = sim.map;
  if (map && map.getLayer("scenario-fill")) {
    for (const id of ["scenario-fill", "scenario-line"]) map.setLayoutProperty(id, "visibility", on ? "visible" : "none");
    for (const id of NORMAL_LAYERS) if (map.getLayer(id)) map.setLayoutProperty(id, "visibility", on ? "none" : "visible");
    if (!on && sim.popup) sim.popup.remove();
  }
  $("sim-back").hidden = !on;
  $("dep-back").hidden = !on;
  document.body.dataset.scenarioView = on ? "delta" : "";
}

function renderLegend(result) {
  const lg = result.legend;
  const rows = lg.classes.map((c) => `<li><span class="swatch" style="background:${c.color}"></span>${h(c.label)} ` +
    `<span class="subtle">(${c.count})</span></li>`);
  if (lg.missing.count) {
    rows.push(`<li><span class="swatch" style="background:${lg.missing.color}"></span>${h(lg.missing.label)} ` +
      `<span class="subtle">(${lg.missing.count})</span></li>`);
  }
  $("legend").innerHTML = `<details open><summary>Légende</summary><h2>${h(lg.label)}</h2>` +
    `<p class="subtle">${h(lg.unit)} — ${h(result.level_label)} ; simulation « ${h(result.nom)} »</p>` +
    `<ul id="delta-legend">${rows.join("")}</ul>` + (result.points.length ? "<ul><li><span class=\"dot\" " +
    "style=\"background:#111\"></span>Maison de santé simulée</li></ul>" : "") + "</details>";
}

function renderResult(result, target = "sim-result") {
  const changed = result.features.map((f) => f.properties)
    .filter((p) => p.delta !== null && Math.abs(p.delta) > 1e-9)
    .sort((a, b) => Math.abs(b.delta) - Math.abs(a.delta) || (b.population || 0) - (a.population || 0));
  let html = `<h3>Résultat : ${h(result.nom)}</h3><ul id="sim-summary">` +
    result.summary.map((line) => `<li>${h(line)}</li>`).join("") + "</ul>";
  if (changed.length) {
    html += `<table id="sim-top"><caption class="subtle">Plus forts écarts (${h(result.level_label.toLowerCase())}, ` +
      `${changed.length} unité(s) modifiée(s))</caption><thead><tr><th scope="col">Unité</th>` +
      "<th scope=\"col\">APL avant</th><th scope=\"col\">APL après</th><th scope=\"col\">Écart</th></tr></thead><tbody>" +
      changed.slice(0, 8).map((p) => `<tr data-unit="${h(p.unit_id)}"><th scope="row" title="${h(p.unit_id)}">` +
        `${h(unitName(p))}</th>` +
        `<td>${fmt(p.apl_before, 2)}</td><td>${fmt(p.apl_after, 2)}</td>` +
        `<td data-field="delta" data-value="${p.delta}">${signed(p.delta, 3)}</td></tr>`).join("") + "</tbody></table>";
  } else {
    html += "<p class=\"note\">Aucune unité de ce niveau ne change.</p>";
  }
  $(target).innerHTML = html;
}

async function run() {
  const p = point();
  const etp = parseNumber($("sim-etp").value);
  if (!p) { status("Placez d'abord la maison de santé : clic sur la carte, ou longitude et latitude."); return; }
  if (etp === null || etp <= 0) { status("Indiquez un nombre d'ETP de médecins généralistes supérieur à 0."); return; }
  const token = ++sim.token;
  setPlacing(false);
  drawPoint();
  document.body.dataset.scenarioReady = "";
  status("Simulation en cours…");
  $("sim-run").disabled = true;
  try {
    const level = $("sim-level").value || "commune";
    const result = await postJSON("/api/scenarios", {
      snapshot: sim.options.getParams().snapshot, level, nom: $("sim-nom").value.trim() || "Maison de santé",
      changements: [{ ajouter_site: { nom: $("sim-nom").value.trim() || "Maison de santé", lon: p[0], lat: p[1],
        generalistes: etp } }],
    });
    if (token !== sim.token) return;
    await display(result, level, token, { result: "sim-result", status: "sim-status", button: "sim-run" });
  } catch (error) {
    status(`Erreur : ${error.message}`);
    $("sim-result").innerHTML = `<p class="note" role="alert">Erreur : ${h(error.message)}</p>`;
  } finally {
    $("sim-run").disabled = false;
  }
}

// Résumé, légende et carte des écarts d'un résultat (les deux panneaux) ; ids : ses éléments de page.
async function display(result, level, token, ids) {
  renderResult(result, ids.result);
  renderLegend(result);
  const side = $("side");  // scroll the side panel only (not the page): buttons, then the summary
  side.scrollTop += $(ids.button).getBoundingClientRect().top - side.getBoundingClientRect().top - 8;
  status(`Carte des écarts d'APL affichée (${result.level_label.toLowerCase()}).`, ids.status);
  const map = sim.map;
  if (map) {
    await whenReady(map);
    map.getSource("scenario").setData(result);
    showDelta(true);
    const b = result.changed_bbox;
    const width = map.getContainer().offsetWidth;
    if (b) {
      map.fitBounds([[b[0], b[1]], [b[2], b[3]]], { duration: 0, maxZoom: 12, padding: { top: 40, bottom: 40,
        left: Math.min($("downloads").offsetWidth + 30, width / 4),
        right: Math.min($("legend").offsetWidth + 30, width / 3) } });
    }
    await whenIdle(map);
  }
  if (token === sim.token) document.body.dataset.scenarioReady = `${level}:${result.features.length}`;
}

async function runDepartures() {
  const horizon = parseNumber($("dep-horizon").value), age = parseNumber($("dep-age").value);
  if (horizon === null || horizon < 1 || horizon > 30) { status("Horizon : de 1 à 30 ans.", "dep-status"); return; }
  if (age === null || age < 50 || age > 90) { status("Âge de départ : de 50 à 90 ans.", "dep-status"); return; }
  const token = ++sim.token;
  document.body.dataset.scenarioReady = "";
  status("Simulation des départs en cours…", "dep-status");
  $("dep-run").disabled = true;
  try {
    const level = $("dep-level").value || "commune";
    const year = sim.departures && sim.departures.year ? sim.departures.year + horizon : null;
    const nom = year ? `Départs en retraite d'ici ${year} (à ${age} ans)` : "Départs en retraite";
    const result = await postJSON("/api/scenarios", { snapshot: sim.options.getParams().snapshot, level, nom,
      changements: [{ retraites: { horizon_annees: Math.round(horizon), age: Math.round(age) } }] });
    if (token !== sim.token) return;
    await display(result, level, token, { result: "dep-result", status: "dep-status", button: "dep-run" });
  } catch (error) {
    status(`Erreur : ${error.message}`, "dep-status");
    $("dep-result").innerHTML = `<p class="note" role="alert">Erreur : ${h(error.message)}</p>`;
  } finally {
    $("dep-run").disabled = false;
  }
}

// Le panneau « Départs » n'apparaît que si l'instantané garde une table de départs (fichier local).
export async function refreshDepartures() {
  const section = $("departs");
  try {
    const info = await getJSON("/api/departs", { snapshot: sim.options.getParams().snapshot });
    sim.departures = info;
    section.hidden = !info.available;
    if (!info.available) return;
    $("dep-year").textContent = String(info.year);
    $("dep-rule").textContent = info.rule;
    if (!$("dep-horizon").value) $("dep-horizon").value = info.horizon_years;
    if (!$("dep-age").value) $("dep-age").value = info.age;
  } catch (error) {
    section.hidden = true;
  }
}

function back() {
  showDelta(false);
  status("Carte normale rétablie.");
  sim.options.onBack();
  $("sim-place").focus();
}

function fillLevels(id = "sim-level") {
  const levels = [...$("level").options].filter((o) => ["commune", "iris", "carreau"].includes(o.value));
  const current = $(id).value || "commune";
  $(id).innerHTML = levels.map((o) => `<option value="${h(o.value)}">${h(o.textContent)}</option>`).join("");
  $(id).value = levels.some((o) => o.value === current) ? current : "commune";
}

export function initScenario(options) {
  sim.options = options;
  sim.map = options.map;
  if (sim.map) {
    whenReady(sim.map).then(() => addLayers(sim.map));
    sim.map.on("click", (e) => {
      if (!sim.placing) return;
      $("sim-lon").value = e.lngLat.lng.toFixed(5);
      $("sim-lat").value = e.lngLat.lat.toFixed(5);
      setPlacing(false);
      drawPoint();
      status(`Maison de santé placée : longitude ${fmt(e.lngLat.lng, 5)}, latitude ${fmt(e.lngLat.lat, 5)}. ` +
        "Choisissez le nombre d'ETP puis « Simuler ».");
      $("sim-etp").focus();
    });
  }
  $("sim-place").addEventListener("click", () => setPlacing(!sim.placing));
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && sim.placing) { setPlacing(false); status("Placement annulé."); $("sim-place").focus(); }
  });
  for (const id of ["sim-lon", "sim-lat", "sim-nom"]) $(id).addEventListener("change", drawPoint);
  $("sim-form").addEventListener("submit", (e) => { e.preventDefault(); run(); });
  $("sim-back").addEventListener("click", back);
  $("simuler-details").addEventListener("toggle", () => fillLevels("sim-level"));
  $("departs-details").addEventListener("toggle", () => fillLevels("dep-level"));
  $("dep-form").addEventListener("submit", (e) => { e.preventDefault(); runDepartures(); });
  $("dep-back").addEventListener("click", back);
  refreshDepartures();
  // a change of the map's parameters brings the normal map back (app.js redraws it)
  $("controls").addEventListener("change", () => { if (sim.delta) { showDelta(false); status("Carte normale rétablie."); } });
}
