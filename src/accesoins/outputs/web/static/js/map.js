// Carte MapLibre sans fond de carte : les unités servies par l'API sont la couche de base.
const EMPTY = { type: "FeatureCollection", features: [] };

export function baseStyle(basemap) {
  const style = {
    version: 8,
    sources: {},
    layers: [{ id: "fond", type: "background", paint: { "background-color": "#f4f4f4" } }],
  };
  if (basemap) {
    style.sources.basemap = { type: "raster", tiles: [basemap], tileSize: 256,
      attribution: "Fond de carte : voir son fournisseur" };
    style.layers.push({ id: "basemap", type: "raster", source: "basemap", paint: { "raster-opacity": 0.6 } });
  }
  return style;
}

const READY = new WeakMap();  // map → the single promise of its layers being added

export function createMap(container, basemap) {
  const map = new maplibregl.Map({
    container,
    style: baseStyle(basemap),
    center: [-0.6, 44.85],
    zoom: 7,
    attributionControl: { compact: true },
    keyboard: true,
  });
  // Registered synchronously after construction, before any other code: 'load' fires once, later, and
  // every caller waits on this one promise instead of testing map.loaded(), which is false again
  // whenever tiles or sources are loading (the cause of the empty map and of the flaky browser test).
  READY.set(map, new Promise((resolve) => map.once("load", () => { addLayers(map); resolve(); })));
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-right");
  return map;
}

export function addLayers(map) {
  if (map.getSource("unites")) return;
  map.addSource("unites", { type: "geojson", data: EMPTY, promoteId: "unit_id" });
  map.addSource("contours", { type: "geojson", data: EMPTY });
  map.addSource("sites", { type: "geojson", data: EMPTY });
  map.addLayer({ id: "unites-fill", type: "fill", source: "unites",
    paint: { "fill-color": ["get", "color"], "fill-opacity": 0.85 } });
  map.addLayer({ id: "unites-line", type: "line", source: "unites",
    paint: { "line-color": "#555", "line-width": 0.4 } });
  // Units without a contour (IRIS outside the communes whose IGN contours were given) are points: circles
  // coloured like the polygons and sized by population, so that a level is never a blank map.
  map.addLayer({ id: "unites-circle", type: "circle", source: "unites", filter: ["==", ["geometry-type"], "Point"],
    paint: { "circle-color": ["get", "color"], "circle-opacity": 0.9,
      "circle-radius": ["interpolate", ["linear"], ["sqrt", ["max", ["coalesce", ["get", "population"], 0], 0]],
        0, 3, 50, 6, 100, 10],
      "circle-stroke-color": "#333", "circle-stroke-width": 0.8 } });
  map.addLayer({ id: "contours-line", type: "line", source: "contours",
    paint: { "line-color": "#222", "line-width": 1 } });
  map.addLayer({ id: "selection", type: "line", source: "unites", filter: ["==", ["get", "unit_id"], ""],
    paint: { "line-color": "#ff9800", "line-width": 3.5 } });
  map.addLayer({ id: "selection-circle", type: "circle", source: "unites",
    filter: ["all", ["==", ["geometry-type"], "Point"], ["==", ["get", "unit_id"], ""]],
    paint: { "circle-opacity": 0, "circle-radius": 12, "circle-stroke-color": "#ff9800", "circle-stroke-width": 3.5 } });
  map.addLayer({ id: "sites-circle", type: "circle", source: "sites",
    paint: { "circle-color": ["get", "color"], "circle-radius": ["interpolate", ["linear"], ["zoom"], 7, 3, 13, 7],
      "circle-stroke-color": "#111", "circle-stroke-width": 1 } });
}

export function setUnits(map, geojson, padding = 30) {
  map.getSource("unites").setData(geojson);
  const b = bbox(geojson);
  if (b) map.fitBounds(b, { padding, duration: 0 });
}

export function setContours(map, geojson) { map.getSource("contours").setData(geojson || EMPTY); }
export function setSites(map, geojson) { map.getSource("sites").setData(geojson || EMPTY); }
export function select(map, unitId) {
  map.setFilter("selection", ["==", ["get", "unit_id"], unitId || ""]);
  map.setFilter("selection-circle", ["all", ["==", ["geometry-type"], "Point"], ["==", ["get", "unit_id"], unitId || ""]]);
}

export function bbox(geojson) {
  let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
  const visit = (c) => {
    if (typeof c[0] === "number") {
      minX = Math.min(minX, c[0]); maxX = Math.max(maxX, c[0]);
      minY = Math.min(minY, c[1]); maxY = Math.max(maxY, c[1]);
    } else c.forEach(visit);
  };
  for (const f of geojson.features) if (f.geometry) visit(f.geometry.coordinates);
  return Number.isFinite(minX) ? [[minX, minY], [maxX, maxY]] : null;
}

/** Resolves once the map's style is loaded and its layers are added (at once if that already happened). */
export function whenReady(map) {
  return READY.get(map);
}

/** Resolves at the next 'idle' after a repaint: the new data is drawn. */
export function whenIdle(map) {
  const idle = new Promise((resolve) => map.once("idle", () => resolve()));
  map.triggerRepaint();
  return idle;
}

// -- reading aids: hover tooltip and commune names ------------------------------------------------
let tooltip = null;
let labels = [];

/** A unit's name for a reader: 200 m cells are named by their INSPIRE code, keep its northing and easting. */
export function unitName(p) {
  const cell = p.name === p.unit_id && /N(\d+)E(\d+)$/.exec(p.unit_id);
  return cell ? `Carreau N ${cell[1]} E ${cell[2]}` : p.name;
}

export function showTooltip(map, lngLat, html) {
  if (!tooltip) {
    tooltip = new maplibregl.Popup({ closeButton: false, closeOnClick: false, className: "tooltip", offset: 12 });
  }
  tooltip.setLngLat(lngLat).setHTML(html);
  if (!tooltip.isOpen()) tooltip.addTo(map);
}

export function hideTooltip() { if (tooltip) tooltip.remove(); }

/** Name, population and inner point of each unit of a layer (its label_lon/label_lat), largest first. */
export function labelPoints(layer) {
  if (!layer) return [];
  return layer.features.map((f) => f.properties).filter((p) => p.label_lon !== null && p.label_lon !== undefined)
    .map((p) => ({ name: p.name, population: p.population || 0, lngLat: [p.label_lon, p.label_lat] }))
    .sort((a, b) => b.population - a.population);
}

/** Commune names as HTML markers (no glyph server offline): the most populous in view, more as one zooms in. */
export function updateLabels(map, points) {
  for (const m of labels) m.remove();
  labels = [];
  const zoom = map.getZoom();
  if (!points || zoom < 9) return;
  const bounds = map.getBounds();
  const most = zoom < 10 ? 6 : zoom < 11 ? 15 : zoom < 12 ? 35 : 80;
  for (const p of points.filter((q) => bounds.contains(q.lngLat)).slice(0, most)) {
    const el = document.createElement("div");
    el.className = "commune-label";
    el.textContent = p.name;
    labels.push(new maplibregl.Marker({ element: el }).setLngLat(p.lngLat).addTo(map));
  }
}
