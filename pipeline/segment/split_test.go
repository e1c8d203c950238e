package segment

import (
	"reflect"
	"testing"
)

func texts(text string, spans []Span) []string {
	out := make([]string, len(spans))
	for i, s := range spans {
		out[i] = s.Of(text)
	}
	return out
}

func TestSplit(t *testing.T) {
	tests := []struct {
		name, lang, text string
		want             []string
	}{
		{"empty", "en", "", nil},
		{"spaces", "en", " \t\n ", nil},
		{"one sentence", "en", "The museum is closed on Mondays.", []string{"The museum is closed on Mondays."}},
		{"no final stop", "en", "The museum is closed", []string{"The museum is closed"}},
		{"two sentences", "en", "The museum is closed. It opens on Tuesday!",
			[]string{"The museum is closed.", "It opens on Tuesday!"}},
		{"question and exclamation", "en", "Is it open? No! Come back tomorrow.",
			[]string{"Is it open?", "No!", "Come back tomorrow."}},
		{"surrounding space trimmed", "en", "  One.   Two.  ", []string{"One.", "Two."}},
		{"decimal", "en", "It costs 3.50 euros. That is cheap.", []string{"It costs 3.50 euros.", "That is cheap."}},
		{"abbreviation", "en", "Dr. Smith met Mr. Jones. They talked.", []string{"Dr. Smith met Mr. Jones.", "They talked."}},
		{"inner dots", "en", "Use a tool, e.g. a hammer. The U.S. Army came.", []string{"Use a tool, e.g. a hammer.", "The U.S. Army came."}},
		{"initials", "en", "J. R. R. Tolkien wrote it. He was British.", []string{"J. R. R. Tolkien wrote it.", "He was British."}},
		{"number abbreviation", "en", "See No. 5 on p. 12 for details.", []string{"See No. 5 on p. 12 for details."}},
		{"year then sentence", "en", "He was born in 1990. He moved.", []string{"He was born in 1990.", "He moved."}},
		{"lower case continues", "en", "Apples, pears etc. are fruit.", []string{"Apples, pears etc. are fruit."}},
		{"ellipsis", "en", "Wait... Then it happened.", []string{"Wait...", "Then it happened."}},
		{"unicode ellipsis", "en", "Wait… Then it happened.", []string{"Wait…", "Then it happened."}},
		{"quotes", "en", `He said "Stop." Then he left. 'Why?' she asked.`, []string{`He said "Stop."`, "Then he left.", "'Why?' she asked."}},
		{"curly quotes", "en", "“Stop.” Then he left.", []string{"“Stop.”", "Then he left."}},
		{"brackets", "en", "It works (see above.) Next we go.", []string{"It works (see above.)", "Next we go."}},
		{"opening quote starts", "en", `It ended. "Next," he said.`, []string{"It ended.", `"Next," he said.`}},
		{"blank line", "en", "Heading\n\nBody text here", []string{"Heading", "Body text here"}},
		{"single line break", "en", "a wrapped\nline.", []string{"a wrapped\nline."}},
		{"german ordinal", "de", "Er kam am 3. Oktober an. Dann ging er.", []string{"Er kam am 3. Oktober an.", "Dann ging er."}},
		{"german abbreviation", "de", "Obst, z.B. Äpfel. Das ist gut. Vgl. Seite 3.", []string{"Obst, z.B. Äpfel.", "Das ist gut.", "Vgl. Seite 3."}},
		{"english no ordinal rule", "en", "We counted to 3. Then we stopped.", []string{"We counted to 3.", "Then we stopped."}},
		{"estonian", "et", "Ta sündis 19. sajandil. Ta elas Tartus, nt. Toomel.", []string{"Ta sündis 19. sajandil.", "Ta elas Tartus, nt. Toomel."}},
		{"romanian", "ro", "Dl. Popescu a venit. A plecat repede!", []string{"Dl. Popescu a venit.", "A plecat repede!"}},
		{"cyrillic", "ru", "Музей закрыт. Он откроется во вторник! Почему?", []string{"Музей закрыт.", "Он откроется во вторник!", "Почему?"}},
		{"cyrillic abbreviation", "ru", "Это было в 1990 г. и т.д. Потом всё изменилось.", []string{"Это было в 1990 г. и т.д.", "Потом всё изменилось."}},
		{"cyrillic initials", "ru", "А. С. Пушкин родился в Москве. Он поэт.", []string{"А. С. Пушкин родился в Москве.", "Он поэт."}},
		{"chinese", "zh", "博物馆周一闭馆。周二开放！你来吗？", []string{"博物馆周一闭馆。", "周二开放！", "你来吗？"}},
		{"chinese quotes", "zh", "他说：“走吧。”然后离开了。", []string{"他说：“走吧。”", "然后离开了。"}},
		{"chinese ascii marks", "zh", "真的吗?是的!好。", []string{"真的吗?", "是的!", "好。"}},
		{"chinese decimal", "zh", "价格是3.5元。很便宜。", []string{"价格是3.5元。", "很便宜。"}},
		{"chinese ascii full stop", "zh", "游艇可以在船坞租用.法国的日记没有提到.“音乐”很好.", []string{"游艇可以在船坞租用.", "法国的日记没有提到.", "“音乐”很好."}},
		{"latin dot before han", "zh", "见 U.S.中国 和 v1.2版本", []string{"见 U.S.中国 和 v1.2版本"}},
		{"japanese", "ja", "今日は月曜日です。「はい。」明日は火曜日。", []string{"今日は月曜日です。", "「はい。」", "明日は火曜日。"}},
		{"devanagari danda", "ne", "संग्रहालय सोमबार बन्द हुन्छ। मंगलबार खुल्छ।", []string{"संग्रहालय सोमबार बन्द हुन्छ।", "मंगलबार खुल्छ।"}},
		{"devanagari no space", "hi", "यह अच्छा है।वह बुरा है॥", []string{"यह अच्छा है।", "वह बुरा है॥"}},
		{"sinhala full stop", "si", "කෞතුකාගාරය සඳුදා වසා ඇත. එය අඟහරුවාදා විවෘතයි.", []string{"කෞතුකාගාරය සඳුදා වසා ඇත.", "එය අඟහරුවාදා විවෘතයි."}},
		{"sinhala kunddaliya", "si", "පළමු කොටස෴දෙවන කොටස", []string{"පළමු කොටස෴", "දෙවන කොටස"}},
		{"arabic question", "ar", "هل هو مفتوح؟ نعم.", []string{"هل هو مفتوح؟", "نعم."}},
		{"roman filiation", "en", "Marcus Valerius M. f. M. n. Messalla, consul. He ruled.", []string{"Marcus Valerius M. f. M. n. Messalla, consul.", "He ruled."}},
		{"leading ellipsis", "en", "... ISIS saw it. It fled.", []string{"... ISIS saw it.", "It fled."}},
		{"only marks", "zh", "。。", []string{"。。"}},
		{"region subtag", "DE_at", "Am 3. Mai. Dann.", []string{"Am 3. Mai.", "Dann."}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := texts(tc.text, Split(tc.text, tc.lang))
			if len(got) == 0 {
				got = nil
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Split(%q, %q)\n got %q\nwant %q", tc.text, tc.lang, got, tc.want)
			}
		})
	}
}
