# mcpgate --approver for Windows: a Yes/No message box. mcpgate passes the call as one JSON
# object on stdin; exit 0 approves, anything else denies. In the client's config:
#   "--approver", "powershell -NoProfile -ExecutionPolicy Bypass -File C:\\path\\approve-windows.ps1"
$call = [Console]::In.ReadToEnd() | ConvertFrom-Json
Add-Type -AssemblyName PresentationFramework
$text = "An agent wants to call the tool `"$($call.tool)`".`nWhy you are asked: $($call.reason)`n`n" + (($call.arguments | ConvertTo-Json -Depth 8 -Compress) -replace '^(.{1500}).*', '$1…')
$answer = [System.Windows.MessageBox]::Show($text, "mcpgate", "YesNo", "Question", "No")
if ($answer -eq "Yes") { exit 0 } else { exit 1 }
