"""Secrets: how credentials reach the cluster without the program writing a Kubernetes Secret.

`store` (the ClusterSecretStore ESO reads Google Secret Manager through, and `StoreAccess`,
the one value components receive of it), `managed` (a credential generated once, kept in
GSM, synced by ExternalSecrets) and `eso` (pure builders of External Secrets Operator objects).
"""
