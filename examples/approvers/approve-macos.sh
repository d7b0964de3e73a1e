#!/bin/sh
# mcpgate --approver for macOS: a dialog with Allow and Deny buttons (osascript).
# mcpgate passes the call as one JSON object on stdin; exit 0 approves, anything else denies.
#   mcpgate --policy policy.yaml --approver /abs/path/approve-macos.sh -- npx -y bash-mcp
call=$(cat | cut -c1-1500 | sed 's/\\/\\\\/g; s/"/\\"/g')
exec osascript -e "display dialog \"An agent wants to call a tool:
$call\" with title \"mcpgate\" buttons {\"Deny\", \"Allow\"} default button \"Deny\" cancel button \"Deny\"" >/dev/null
