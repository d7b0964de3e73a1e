// Types of log-text.mjs (plain JavaScript, so that server.mjs runs without a TypeScript loader).
export declare function logText(bytes: number): string;
