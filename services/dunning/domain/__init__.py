"""Pure rules of dunning: scenarios, an item's position and pauses, the decisions of a pass, the agenda."""
