#!/usr/bin/env node
import "../dist/mcpgate.js";
