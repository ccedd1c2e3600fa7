import Replay
import Testing

/// The one markup escape: JUnit XML and the HTML pages.
@Suite struct MarkupTests {
    @Test func xmlAndHTMLEscapeTheSameEntitiesXMLAlsoApostrophesAndForbiddenCharacters() {
        let s = "a<b & \"c\" didn't\u{1}\n"
        #expect(Markup.xml(s) == "a&lt;b &amp; &quot;c&quot; didn&apos;t\u{FFFD}\n")
        #expect(Markup.html(s) == "a&lt;b &amp; &quot;c&quot; didn't\u{1}\n")
    }
}
