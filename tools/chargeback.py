"""`python -m tools.chargeback --month YYYY-MM [--out DIR]` (DSN in LLM_GATEWAY_REPORTING_DSN): the month's
FOCUS 1.3 chargeback CSV and Markdown summary (docs/chargeback.md; components/reporting/export.py)."""

import sys

from components.reporting.export import main

if __name__ == "__main__":
    sys.exit(main())
