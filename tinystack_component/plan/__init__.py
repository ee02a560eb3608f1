"""`make plan`: the whole stack offline, with reachability, violations, monthly cost and a diagram."""
