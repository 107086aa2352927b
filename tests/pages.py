"""Page helpers over BeautifulSoup: the screen a response shows, and its real forms submitted."""
from urllib.parse import urljoin, urlsplit

from bs4 import BeautifulSoup


class Page:
    def __init__(self, response, url):
        self.response = response
        self.url = url
        self.soup = BeautifulSoup(response.get_data(as_text=True), "html.parser")

    @property
    def status(self):
        return self.response.status_code

    @property
    def screen(self):
        body = self.soup.body
        return body.get("data-screen") if body else None

    def testid(self, value):
        return self.soup.find(attrs={"data-testid": value})

    def testids(self, value):
        return self.soup.find_all(attrs={"data-testid": value})

    @property
    def error(self):
        element = self.testid("error")
        return element.get_text(" ", strip=True) if element else None

    def text(self):
        return self.soup.get_text(" ", strip=True)

    def form(self, index=0, containing=None):
        forms = self.soup.find_all("form")
        if containing is not None:
            forms = [f for f in forms if f.find(attrs={"name": containing}) or f.find(id=containing)
                     or f.find(attrs={"data-testid": containing})]
        return Form(forms[index], self.url)


class Form:
    def __init__(self, element, page_url):
        self.element = element
        self.action = urljoin(page_url, element.get("action") or page_url)
        self.method = (element.get("method") or "get").lower()
        self.fields = {}
        for field in element.find_all(["input", "select", "textarea"]):
            name = field.get("name")
            if not name or field.get("type") in ("submit", "button"):
                continue
            if field.get("type") in ("checkbox", "radio"):
                if field.has_attr("checked"):
                    self.fields[name] = field.get("value", "on")
                continue
            if field.name == "select":
                option = field.find("option", selected=True) or field.find("option")
                self.fields[name] = option.get("value", option.get_text()) if option else ""
            else:
                self.fields[name] = field.get("value", "")

    def button(self, testid_or_name):
        """Return (name, value) of a submit button, found by data-testid, id or name."""
        el = (self.element.find(attrs={"data-testid": testid_or_name}) or self.element.find(id=testid_or_name)
              or self.element.find(attrs={"name": testid_or_name}))
        if el is None:
            raise LookupError(testid_or_name)
        return el.get("name"), el.get("value", "")


class Browser:
    """Drives the Flask test client like a person: GET pages, follow redirects, submit forms."""

    def __init__(self, client, base="http://localhost"):
        self.client = client
        self.base = base
        self.last_redirect = None

    def get(self, url, follow=True, **kwargs):
        return self._follow(self.client.get(url, **kwargs), url, follow)

    def submit(self, page, data=None, button=None, form=None, follow=True):
        """Submit a form of `page` with `data` merged over its fields; `button` is a submit's testid or name."""
        form = form or page.form(containing=button) if button else (form or page.form())
        values = dict(form.fields)
        values.update(data or {})
        if button:
            name, value = form.button(button)
            if name:
                values[name] = value
        if form.method == "post":
            response = self.client.post(self._path(form.action), data=values)
        else:
            response = self.client.get(self._path(form.action), query_string=values)
        return self._follow(response, form.action, follow)

    def _path(self, url):
        parts = urlsplit(url)
        return parts.path + (f"?{parts.query}" if parts.query else "")

    def _follow(self, response, url, follow):
        while follow and response.status_code in (301, 302, 303, 307) and response.location:
            location = urljoin(url, response.location)
            self.last_redirect = location
            if not location.startswith(self.base) and urlsplit(location).netloc not in ("", "localhost"):
                break
            if urlsplit(location).netloc == "localhost:8401" or ":" in urlsplit(location).netloc:
                break  # the relying party's callback: not this app
            url = location
            response = self.client.get(self._path(location))
        return Page(response, url)
