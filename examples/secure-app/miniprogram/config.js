// Where the backend (`miniguard serve`) answers. It must be an https origin listed in the
// mini-program's "request domain" settings; the SDK refuses plain http outside development.
module.exports = {
  baseUrl: 'https://api.example.com',
};
