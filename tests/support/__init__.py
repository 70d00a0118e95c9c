"""Test support: a throwaway PostgreSQL server and the SQL the role engines run."""
