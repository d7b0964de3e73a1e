#!/bin/sh
# mcpgate --approver for Linux desktops: a yes/no dialog (zenity, GNOME; kdialog, KDE).
# mcpgate passes the call as one JSON object on stdin; exit 0 approves, anything else denies.
#   mcpgate --policy policy.yaml --approver /abs/path/approve-linux.sh -- npx -y bash-mcp
call=$(cat)
tool=$(printf '%s' "$call" | sed -n 's/.*"tool":"\([^"]*\)".*/\1/p')
reason=$(printf '%s' "$call" | sed -n 's/.*"reason":"\([^"]*\)".*/\1/p')
text="An agent wants to call the tool \"$tool\".
Why you are asked: $reason

$(printf '%s' "$call" | cut -c1-1500)"
if command -v zenity >/dev/null 2>&1; then
  exec zenity --question --title="mcpgate" --no-markup --width=520 --text="$text"
elif command -v kdialog >/dev/null 2>&1; then
  exec kdialog --title mcpgate --yesno "$text"
fi
echo "approve-linux.sh: neither zenity nor kdialog is installed; denying" >&2
exit 1
