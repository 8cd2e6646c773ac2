"""Jobs: the broker, the actors, the scheduler. Actors are thin: they call services."""
