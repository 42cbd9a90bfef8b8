"""accesoins: observatoire de l'accès aux soins de premier recours.

Stages, in the order data flows: ``sources`` (read and validate official
files) → ``geo`` (place practice activities, territorial units) → ``network``
(travel times) → ``indicators`` (densities, floating catchments, APL) →
``scenarios`` → ``store`` (versioned snapshots) → ``outputs`` (exports).
"""

__version__ = "0.1.0"
