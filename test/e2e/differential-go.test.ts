// Parser differentials against the go peer (see differential.ts).
import { differentialSuite } from "./differential.ts";

await differentialSuite("go");
