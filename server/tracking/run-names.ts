// MLflow-style generated run names ("bold-otter-42") for runs created without one.
import { randomInt } from "node:crypto";

const ADJECTIVES = ["amber", "bold", "brave", "calm", "clever", "crisp", "dapper", "eager", "fierce", "gentle", "glad", "keen", "lucky", "merry", "nimble", "polite", "quiet", "rare", "sleek", "swift", "tidy", "vivid", "wise", "zesty"];
const NOUNS = ["badger", "bison", "crane", "deer", "eagle", "falcon", "fox", "gull", "hare", "heron", "ibis", "koala", "lark", "lynx", "mole", "newt", "otter", "owl", "panda", "quail", "robin", "seal", "stork", "wren"];

export function generateRunName(): string {
  return `${ADJECTIVES[randomInt(ADJECTIVES.length)]}-${NOUNS[randomInt(NOUNS.length)]}-${randomInt(1000)}`;
}
