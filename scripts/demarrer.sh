#!/usr/bin/env bash
# Installe accesoins, construit l'observatoire des deux territoires de référence (Gironde et
# Alpes-Maritimes), compare leur APL à celle de la DREES, exporte, produit la fiche de Bordeaux,
# puis sert l'observatoire web sur http://127.0.0.1:8000 (option --sans-serveur pour s'arrêter avant).
# Données : $ACCESOINS_DATA, sinon ../shared/data, sinon téléchargement des sources officielles, sinon (hors
# ligne) le territoire de démonstration embarqué dans le paquet (Bordeaux Métropole, accesoins/demo/).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/apt.sh
bash scripts/setup.sh
export ACCESOINS_DATA="${ACCESOINS_DATA:-$(cd .. && pwd)/shared/data}"
export ACCESOINS_STORE="${ACCESOINS_STORE:-var/accesoins.duckdb}"
acc=.venv/bin/accesoins
demo=""
if [ ! -d "$ACCESOINS_DATA" ]; then
  if "$acc" fetch apl_drees --data-dir data 2>/dev/null; then
    echo "Répertoire de données absent : téléchargement des sources officielles dans data/"
    export ACCESOINS_DATA=data
    for source in annuaire_sante finess; do "$acc" fetch "$source"; done
  else  # ni données ni Internet : le territoire de démonstration embarqué (Bordeaux Métropole, données réelles)
    echo "Ni répertoire de données ni Internet : territoire de démonstration embarqué (Bordeaux Métropole)"
    ACCESOINS_DATA="$(.venv/bin/python -c 'from accesoins import demo; print(demo.data_dir())')"
    export ACCESOINS_DATA
    demo=1
  fi
fi
mkdir -p var/exports
if [ -n "$demo" ]; then
  "$acc" build --territory 243300316 --vintage 2023
  "$acc" validate-apl --territory 243300316 --vintage 2023
else
  "$acc" build --territory 06 --vintage 2022
  "$acc" build --territory 33 --vintage 2023   # en dernier : l'instantané par défaut est la Gironde
  "$acc" validate-apl --territory 06 --vintage 2022
  "$acc" validate-apl --territory 33 --vintage 2023
fi
"$acc" indicators --level commune --profession generaliste --format gpkg --out var/exports/communes_generalistes.gpkg
"$acc" report --unit 33063 --out var/exports/fiche_bordeaux.pdf
echo "Observatoire prêt : entrepôt $ACCESOINS_STORE, exports dans var/exports/"
if [ "${1:-}" != "--sans-serveur" ]; then
  "$acc" serve
fi
