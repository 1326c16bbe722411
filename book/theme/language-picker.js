// The language switch: a menu in the book's top bar that opens the same
// page, at the same heading, in another language.
//
// Layout (xtask/book): the English book is at the output's root
// (target/book/), each translation in a directory named after its
// language (target/book/pt-BR/), built from book/po/LANG.po. Pages have the
// same names in every language, and translated headings keep their English
// ids, so only the language directory changes. To add a language, add its
// catalog and a line below.
(function () {
    "use strict";
    const languages = [
        ["en", "English"],
        ["pt-BR", "Português (Brasil)"],
    ];
    const current = document.documentElement.lang || "en";
    // `path_to_root` comes from mdBook's page template: "", "../", …
    const root = new URL((typeof path_to_root === "string" && path_to_root) || "./", location.href);
    if (!location.href.startsWith(root.href)) {
        return;
    }
    const page = location.href.slice(root.href.length);
    const english = current === "en" ? root : new URL("../", root);

    const select = document.createElement("select");
    select.id = "dockyard-language";
    select.title = "Language / Idioma";
    select.setAttribute("aria-label", "Language / Idioma");
    for (const [code, name] of languages) {
        const option = document.createElement("option");
        option.value = code === "en" ? english.href : new URL(code + "/", english).href;
        option.textContent = name;
        option.lang = code;
        option.selected = code === current;
        select.appendChild(option);
    }
    select.addEventListener("change", function () {
        location.href = select.value + page;
    });
    const buttons = document.querySelector("#mdbook-menu-bar .right-buttons, .right-buttons");
    if (buttons) {
        buttons.prepend(select);
    }
})();
