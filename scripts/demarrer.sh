#!/usr/bin/env bash
# Installe accesoins, construit l'observatoire des deux territoires de référence (Gironde et
# Alpes-Maritimes), compare leur APL à celle de la DREES, exporte, produit la fiche de Bordeaux,
# puis sert l'observatoire web sur http://127.0.0.1:8000 (option --sans-serveur pour s'arrêter avant).
# Données : $ACCESOINS_DATA, sinon ../shared/data, sinon téléchargement des sources officielles.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/apt.sh
bash scripts/setup.sh
export ACCESOINS_DATA="${ACCESOINS_DATA:-$(cd .. && pwd)/shared/data}"
export ACCESOINS_STORE="${ACCESOINS_STORE:-var/accesoins.duckdb}"
acc=.venv/bin/accesoins
if [ ! -d "$ACCESOINS_DATA" ]; then
  echo "Répertoire de données absent : téléchargement des sources officielles dans data/"
  export ACCESOINS_DATA=data
  for source in annuaire_sante finess apl_drees; do "$acc" fetch "$source"; done
fi
"$acc" build --territory 06 --vintage 2022
"$acc" build --territory 33 --vintage 2023   # en dernier : l'instantané par défaut est la Gironde
"$acc" validate-apl --territory 06 --vintage 2022
"$acc" validate-apl --territory 33 --vintage 2023
mkdir -p var/exports
"$acc" indicators --level commune --profession generaliste --format gpkg --out var/exports/communes_generalistes.gpkg
"$acc" report --unit 33063 --out var/exports/fiche_bordeaux.pdf
echo "Observatoire prêt : entrepôt $ACCESOINS_STORE, exports dans var/exports/"
if [ "${1:-}" != "--sans-serveur" ]; then
  "$acc" serve
fi
