"""Choose a revision of a module's sources that contains a fix and builds against a target."""
