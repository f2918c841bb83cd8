"""Amazon Cognito identity pools: pools, identities, and temporary credentials for them."""
