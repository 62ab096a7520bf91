// "Contact us" form: the page sends the shop's support address and the message.
const nodemailer = require('nodemailer')

const transporter = nodemailer.createTransport({
  host: 'smtp.exmail.qq.com',
  auth: { user: process.env.MAIL_USER, pass: process.env.MAIL_PASS },
})

exports.main = async (event) => {
  const { to, subject, html } = event
  return transporter.sendMail({ from: process.env.MAIL_USER, to, subject, html })
}
