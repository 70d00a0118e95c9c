"""Secrets: how credentials reach the cluster without the program writing a Kubernetes Secret.

`store` (a SecretStore and Google service account per namespace that consumes secrets, and
`StoreAccess`, the one value components receive of a namespace's store), `managed` (a credential
generated once, kept in GSM, granted to the namespaces that read it, synced by ExternalSecrets)
and `eso` (pure builders of External Secrets Operator objects).
"""
