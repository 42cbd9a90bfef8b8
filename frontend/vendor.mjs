// Copie MapLibre GL JS (registre npm) dans le dossier statique du paquet Python.
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, "node_modules", "maplibre-gl", "dist");
const target = join(here, "..", "src", "accesoins", "outputs", "web", "static", "vendor");
mkdirSync(target, { recursive: true });
for (const name of ["maplibre-gl.js", "maplibre-gl.css"]) {
  copyFileSync(join(dist, name), join(target, name));
}
copyFileSync(join(here, "node_modules", "maplibre-gl", "LICENSE.txt"), join(target, "maplibre-gl.LICENSE.txt"));
