"""Travel costs between demand units and supply sites.

Reads point layers (demand units, practice sites) and returns long tables of
``origin_id, destination_id, travel_time_min`` (origin = demand, destination =
supply). Cost sources are pluggable: :class:`CrowFlyCosts` (straight-line
distance × detour ÷ speed by settlement density), :class:`OdTableCosts` (an
origin–destination table read from a file); the OpenStreetMap road and walking
networks plug in through the same :class:`CostSource` protocol.
"""

from accesoins.network._costs import CostSource, CrowFlyCosts, OdTableCosts

__all__ = ["CostSource", "CrowFlyCosts", "OdTableCosts"]
