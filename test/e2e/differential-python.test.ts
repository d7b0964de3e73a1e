// Parser differentials against the python peer (see differential.ts).
import { differentialSuite } from "./differential.ts";

await differentialSuite("python");
