// Parser differentials against the readline peer (see differential.ts).
import { differentialSuite } from "./differential.ts";

await differentialSuite("readline");
