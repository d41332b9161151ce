"""The five parties. Their names become exchange, queue and database names,
so they never change."""

COMMITTEE = "neighborhood_committee"
POLICE = "community_police"
FLOATING = "floating_population_office"
PROPERTY = "property_company"
DEVELOPER = "developer"

ALL = (COMMITTEE, POLICE, FLOATING, PROPERTY, DEVELOPER)

# The four parties the committee links together on every registration.
LINKED = (POLICE, FLOATING, PROPERTY, DEVELOPER)

DEFAULT_PORTS = {
    COMMITTEE: 8001,
    POLICE: 8002,
    FLOATING: 8003,
    PROPERTY: 8004,
    DEVELOPER: 8005,
}
