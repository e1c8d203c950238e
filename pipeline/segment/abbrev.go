package segment

// abbreviations are words that end with a dot without ending a sentence,
// in any language (lower case, without their final dot). "etc." is not
// one: it ends sentences as often as not, and a lower-case word after it
// already keeps the sentence going.
var abbreviations = set(
	"mr", "mrs", "ms", "dr", "prof", "st", "jr", "sr", "vs", "inc", "ltd", "co", "corp",
	"approx", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
	"mt", "gen", "col", "lt", "sgt", "capt", "rev", "gov", "sen", "rep", "cf", "al", "ca",
)

// sentenceFinal are abbreviations that close lists ("and so on") and so
// end a sentence when a capital follows, inner dots or not.
var sentenceFinal = set("etc", "т.д", "т.п", "usw", "jne", "jt", "jms", "ș.a", "ş.a", "ș.a.m.d", "ş.a.m.d")

// numberAbbreviations end with a dot before a number: "No. 5", "p. 12".
var numberAbbreviations = set("no", "nos", "nr", "vol", "p", "pp", "fig", "art", "ch", "sec", "tel", "nt")

// langAbbreviations are each language's own (keys are primary subtags).
var langAbbreviations = map[string]map[string]bool{
	"de": set("bzw", "usw", "ggf", "evtl", "bspw", "vgl", "inkl", "zzgl", "jh", "mio", "mrd", "abs", "str", "hr", "fr", "nr", "s", "ca"),
	"et": set("nt", "jne", "vt", "lk", "nr", "hr", "pr", "mh", "sh", "tn", "jm", "vms", "u", "v", "saj", "tk", "kl"),
	"ro": set("dl", "dna", "dra", "dnul", "nr", "str", "pag", "sf", "ex", "jud", "mun", "cca"),
	"ru": set("г", "гг", "др", "пр", "см", "им", "ул", "д", "стр", "тыс", "млн", "млрд", "руб", "коп", "в", "вв", "проф", "акад", "ок"),
}

// ordinalDot lists languages that write ordinal numbers with a dot
// ("am 3. Oktober"): a short number before a dot does not end a sentence.
var ordinalDot = set("de", "et", "fi", "da", "nb", "nn", "no", "cs", "sk", "hu", "sl", "hr", "sr", "bs", "lv", "is", "tr")

func set(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}
